"""Transports for the Telegram Bot API sandbox: in-process httpx and a real HTTP server.

Both serve ``/bot<token>/<method>`` and ``/file/bot<token>/<path>`` from one
:class:`bot.sandbox.Sandbox`. The HTTP server adds JSON control endpoints under ``/sandbox/``
so another process (a test, or a person running ``oshbot sandbox``) can play users; they take
no token because the server is meant to listen on localhost only.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any
from urllib.parse import parse_qsl, unquote

import httpx
from aiohttp import web

from bot.sandbox import (
    DEFAULT_TOKEN,
    ApiError,
    RateLimits,
    Sandbox,
    SandboxTimeout,
    Upload,
)

__all__ = ["SandboxServer", "SandboxTransport", "parse_body", "serve_forever"]

logger = logging.getLogger(__name__)

# Readable Vietnamese when a person inspects the control endpoints with curl.
_dumps = functools.partial(json.dumps, ensure_ascii=False)

# Bot uploads go up to 50 MB on Telegram; aiohttp's 1 MB default would reject documents.
MAX_BODY = 60 * 1024 * 1024


def parse_body(content_type: str, body: bytes) -> tuple[dict[str, Any], dict[str, Upload]]:
    """Decode a Bot API request body (form, multipart or JSON) into params and uploads."""
    params: dict[str, Any] = {}
    files: dict[str, Upload] = {}
    mime = content_type.split(";", 1)[0].strip().lower()
    if not body:
        return params, files
    if mime == "application/json":
        params.update(json.loads(body))
    elif mime == "multipart/form-data":
        # The stdlib email parser understands MIME multipart, which avoids hand-rolling
        # boundary handling or adding a dependency just for the in-process path.
        head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
        parsed = BytesParser(policy=policy.HTTP).parsebytes(head + body)
        assert isinstance(parsed, EmailMessage)
        for part in parsed.iter_parts():
            assert isinstance(part, EmailMessage)
            name = str(part.get_param("name", header="content-disposition"))
            payload = part.get_payload(decode=True)
            data = payload if isinstance(payload, bytes) else b""
            filename = part.get_filename()
            if filename is None:
                params[name] = data.decode()
            else:
                files[name] = Upload(data, filename, part.get_content_type())
    else:
        params.update(parse_qsl(body.decode(), keep_blank_values=True))
    return params, files


def _split_path(path: str) -> tuple[str, str, str] | None:
    """("bot"|"file", token, method-or-file-path) for a Bot API path, else None."""
    for prefix, kind in (("/file/bot", "file"), ("/bot", "bot")):
        if path.startswith(prefix) and "/" in path[len(prefix) :]:
            token, rest = path[len(prefix) :].split("/", 1)
            if rest.rstrip("/"):
                return kind, token, rest.rstrip("/") if kind == "bot" else rest
    return None


class SandboxTransport(httpx.AsyncBaseTransport):
    """An httpx transport answering Bot API requests from a Sandbox, without sockets."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        route = _split_path(unquote(request.url.path))
        if route is None:
            return httpx.Response(404, json=ApiError(404, "Not Found").payload())
        kind, token, target = route
        if kind == "file":
            status, content = self.sandbox.download(token, target)
            return httpx.Response(status, content=content)
        params, files = parse_body(request.headers.get("content-type", ""), body)
        params = {**dict(request.url.params), **params}
        try:
            status, payload = await self.sandbox.call(token, target, params, files)
        except SandboxTimeout as exc:
            raise httpx.ReadTimeout(str(exc), request=request) from exc
        return httpx.Response(status, json=payload)


def _json_response(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status, dumps=_dumps)


class SandboxServer:
    """Serves a Sandbox over HTTP with aiohttp; ``port=0`` picks a free port."""

    def __init__(
        self,
        sandbox: Sandbox,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        timeout_delay: float = 30.0,
    ) -> None:
        self.sandbox = sandbox
        self.host = host
        self.port = port
        # A "timeout" fault holds the response this long: past PTB's default 5 s read timeout.
        self.timeout_delay = timeout_delay
        self._runner: web.AppRunner | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://{self.host}:{self.port}/file/bot"

    async def start(self) -> int:
        app = web.Application(client_max_size=MAX_BODY)
        app.router.add_route("*", "/bot{token}/{method}", self._api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._file)
        app.router.add_post("/sandbox/users/{user_id}/messages", self._inject_message)
        app.router.add_post("/sandbox/users/{user_id}/callbacks", self._inject_callback)
        app.router.add_post("/sandbox/users/{user_id}/block", self._block)
        app.router.add_post("/sandbox/users/{user_id}/unblock", self._unblock)
        app.router.add_get("/sandbox/chats/{chat_id}/messages", self._chat_messages)
        app.router.add_get("/sandbox/stats", self._stats)
        # A short shutdown grace: pending long polls would otherwise hold stop() for a minute.
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        return self.port

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # --- Bot API

    async def _api(self, request: web.Request) -> web.Response:
        params: dict[str, Any] = dict(request.query)
        files: dict[str, Upload] = {}
        if request.content_type == "application/json":
            params.update(await request.json())
        elif request.can_read_body:
            for key, value in (await request.post()).items():
                if isinstance(value, web.FileField):
                    files[key] = Upload(value.file.read(), value.filename, value.content_type)
                else:
                    params[key] = value
        token, method = request.match_info["token"], request.match_info["method"]
        try:
            status, payload = await self.sandbox.call(token, method, params, files)
        except SandboxTimeout:
            await asyncio.sleep(self.timeout_delay)
            status, payload = 504, ApiError(504, "Gateway Timeout").payload()
        return _json_response(payload, status=status)

    async def _file(self, request: web.Request) -> web.Response:
        status, content = self.sandbox.download(
            request.match_info["token"], request.match_info["path"]
        )
        content_type = "application/octet-stream" if status == 200 else "application/json"
        return web.Response(status=status, body=content, content_type=content_type)

    # --- control endpoints

    @staticmethod
    async def _body(request: web.Request) -> dict[str, Any]:
        if not request.can_read_body:
            return {}
        try:
            data = await request.json()
        except ValueError:
            raise web.HTTPBadRequest(text="body must be JSON") from None
        if not isinstance(data, dict):
            raise web.HTTPBadRequest(text="body must be a JSON object")
        return data

    def _user(self, request: web.Request, body: dict[str, Any] | None = None) -> Any:
        body = body or {}
        try:
            user_id = int(request.match_info["user_id"])
        except ValueError:
            raise web.HTTPBadRequest(text="user_id must be an integer") from None
        return self.sandbox.user(
            user_id,
            body.get("first_name") or "Người dùng",
            last_name=body.get("last_name"),
            username=body.get("username"),
            language_code=body.get("language_code", "vi"),
        )

    async def _inject_message(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        text = str(body.get("text", ""))
        if not text:
            raise web.HTTPBadRequest(text="text is required")
        user = self._user(request, body)
        if text.startswith("/"):
            command, *args = text.split(" ")
            update = user.send_command(command, *args)
        else:
            update = user.send_text(text)
        return _json_response(update)

    async def _inject_callback(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        user = self._user(request, body)
        try:
            update = user.press(
                int(body["message_id"]), str(body["data"]), strict=bool(body.get("strict", True))
            )
        except (KeyError, ValueError) as exc:
            raise web.HTTPBadRequest(text=str(exc)) from None
        return _json_response(update)

    async def _block(self, request: web.Request) -> web.Response:
        return _json_response(self._user(request).block())

    async def _unblock(self, request: web.Request) -> web.Response:
        return _json_response(self._user(request).unblock())

    async def _chat_messages(self, request: web.Request) -> web.Response:
        try:
            chat_id = int(request.match_info["chat_id"])
        except ValueError:
            raise web.HTTPBadRequest(text="chat_id must be an integer") from None
        if chat_id not in self.sandbox.users:
            raise web.HTTPNotFound(text="chat not found")
        return _json_response([m.to_json() for m in self.sandbox.chat_messages(chat_id)])

    async def _stats(self, request: web.Request) -> web.Response:
        return _json_response(self.sandbox.stats.to_json())


def serve_forever(
    *,
    host: str = "127.0.0.1",
    port: int = 8081,
    token: str = DEFAULT_TOKEN,
    bot_username: str = "oshbot_sandbox_bot",
    limits: RateLimits | None = RateLimits(),
) -> None:
    """Run a sandbox server until Ctrl-C; this backs ``oshbot sandbox``."""
    # A no-op when the CLI already configured logging; otherwise makes the URL visible.
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")

    async def main() -> None:
        sandbox = Sandbox(token=token, bot_username=bot_username, limits=limits)
        server = SandboxServer(sandbox, host, port)
        bound = await server.start()
        logger.info("Telegram sandbox listening on http://%s:%d", host, bound)
        logger.info(
            "Point the bot at it: OSHBOT_API_BASE_URL=%s OSHBOT_TOKEN=%s", server.base_url, token
        )
        logger.info(
            "Play a user: curl -X POST http://%s:%d/sandbox/users/1001/messages "
            "-H 'Content-Type: application/json' -d '{\"text\": \"/start\"}'",
            host,
            bound,
        )
        try:
            await asyncio.Event().wait()
        finally:
            await server.stop()

    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        logger.info("Telegram sandbox stopped")
