"""Transports for the Zalo sandbox: in-process httpx and a real HTTP server.

Both serve ``/bot<token>/<method>`` and the sandbox's media (``/media/<name>``, the photos users
send) from one :class:`bot.zalo.sandbox.ZaloSandbox`. The HTTP server adds JSON control
endpoints under ``/sandbox/`` so another process (a test, or a person running ``oshbot sandbox
--channel zalo``) can play users; they take no token because the server is meant to listen on
localhost only.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import functools
import json
import logging
import re
from typing import Any
from urllib.parse import unquote

import httpx
from aiohttp import web

from bot.sandbox_http import parse_body
from bot.zalo.limits import RateLimits
from bot.zalo.sandbox import (
    DEFAULT_STICKER,
    DEFAULT_TOKEN,
    ApiError,
    SandboxDisconnect,
    SandboxTimeout,
    SandboxUser,
    ZaloSandbox,
)

__all__ = ["ZaloSandboxServer", "ZaloSandboxTransport", "serve_forever"]

logger = logging.getLogger(__name__)

_dumps = functools.partial(json.dumps, ensure_ascii=False)
_API_PATH = re.compile(r"/bot([^/]+)/([^/]+)/?")
# Bodies are JSON with at most 2000 characters of text; a megabyte is generous.
MAX_BODY = 1024 * 1024


def _decode(content_type: str, body: bytes) -> dict[str, Any]:
    """A request body as parameters; the platform takes JSON, forms and multipart alike."""
    if content_type.split(";", 1)[0].strip().lower() == "application/json" and body:
        data = json.loads(body)
        if not isinstance(data, dict):
            raise ValueError("the body must be a JSON object")
        return data
    params, files = parse_body(content_type, body)
    return {
        **params,
        **{name: upload.data.decode(errors="replace") for name, upload in files.items()},
    }


def _mime(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower() or "none"


class ZaloSandboxTransport(httpx.AsyncBaseTransport):
    """An httpx transport answering Zalo Bot API requests from a sandbox, without sockets."""

    def __init__(self, sandbox: ZaloSandbox) -> None:
        self.sandbox = sandbox

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        path = unquote(request.url.path)
        body = await request.aread()
        if request.method == "GET" and path.startswith("/media/"):
            hosted = self.sandbox.media.get(path[len("/media/") :])
            if hosted is None:
                return httpx.Response(404, text="Not Found")
            return httpx.Response(200, content=hosted[0], headers={"content-type": hosted[1]})
        route = _API_PATH.fullmatch(path)
        if route is None:
            return httpx.Response(404, text="Not Found")
        token, method = route.groups()
        content_type = request.headers.get("content-type", "")
        try:
            params = {**dict(request.url.params), **_decode(content_type, body)}
        except ValueError:
            payload = ApiError(400, "Bad Request: the body is not valid JSON").payload()
            return httpx.Response(200, json=payload)
        try:
            status, answer = await self.sandbox.call(
                token, method, params, content_type=_mime(content_type)
            )
        except SandboxTimeout as exc:
            raise httpx.ReadTimeout(str(exc), request=request) from exc
        except SandboxDisconnect as exc:
            raise httpx.RemoteProtocolError(str(exc), request=request) from exc
        if isinstance(answer, str):
            return httpx.Response(status, text=answer, headers={"content-type": "text/html"})
        return httpx.Response(status, json=answer)


def _json_response(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status, dumps=_dumps)


class ZaloSandboxServer:
    """Serves a sandbox over HTTP with aiohttp; ``port=0`` picks a free port."""

    def __init__(
        self,
        sandbox: ZaloSandbox,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        timeout_delay: float = 30.0,
    ) -> None:
        self.sandbox = sandbox
        self.host = host
        self.port = port
        # A "timeout" fault holds the answer this long, past the client's read timeout.
        self.timeout_delay = timeout_delay
        self._runner: web.AppRunner | None = None

    @property
    def origin(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.origin}/bot"

    async def start(self) -> int:
        app = web.Application(client_max_size=MAX_BODY)
        app.router.add_route("*", "/bot{token}/{method}", self._api)
        app.router.add_get("/media/{name}", self._media)
        for kind in ("messages", "images", "stickers", "unsupported"):
            app.router.add_post(f"/sandbox/users/{{user_id}}/{kind}", self._inject)
        app.router.add_post("/sandbox/users/{user_id}/block", self._block)
        app.router.add_post("/sandbox/users/{user_id}/unblock", self._unblock)
        app.router.add_get("/sandbox/chats/{chat_id}/messages", self._chat_messages)
        app.router.add_post("/sandbox/faults", self._add_fault)
        app.router.add_get("/sandbox/webhook", self._webhook)
        app.router.add_get("/sandbox/stats", self._stats)
        # A short shutdown grace: pending long polls would otherwise hold stop() for a minute.
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        # Photos users send are served from here, so their URLs must name this server.
        self.sandbox.origin = self.origin
        return self.port

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # --- Bot API

    async def _api(self, request: web.Request) -> web.StreamResponse:
        try:
            params = {**dict(request.query), **_decode(request.content_type, await request.read())}
        except ValueError:
            return _json_response(
                ApiError(400, "Bad Request: the body is not valid JSON").payload()
            )
        token, method = request.match_info["token"], request.match_info["method"]
        try:
            status, answer = await self.sandbox.call(
                token, method, params, content_type=_mime(request.headers.get("content-type", ""))
            )
        except SandboxTimeout:
            await asyncio.sleep(self.timeout_delay)
            status, answer = 504, "<html><body><h1>504 Gateway Time-out</h1></body></html>"
        except SandboxDisconnect:
            if request.transport is not None:
                request.transport.close()
            return web.Response(status=500)
        if isinstance(answer, str):
            return web.Response(status=status, text=answer, content_type="text/html")
        return _json_response(answer, status=status)

    async def _media(self, request: web.Request) -> web.Response:
        hosted = self.sandbox.media.get(request.match_info["name"])
        if hosted is None:
            raise web.HTTPNotFound(text="Not Found")
        return web.Response(body=hosted[0], content_type=hosted[1])

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

    def _user(self, request: web.Request, body: dict[str, Any]) -> SandboxUser:
        user = self.sandbox.user(request.match_info["user_id"])
        if body.get("display_name"):
            user.display_name = str(body["display_name"])
        return user

    async def _inject(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        user = self._user(request, body)
        group = body.get("group")
        group = None if group is None else str(group)
        kind = request.path.rsplit("/", 1)[1]
        if kind == "messages":
            text = str(body.get("text", ""))
            if not text:
                raise web.HTTPBadRequest(text="text is required")
            update = user.send_text(text, group=group)
        elif kind == "images":
            caption = body.get("caption")
            if body.get("photo_url"):
                update = user.send_image(str(body["photo_url"]), caption=caption, group=group)
            elif body.get("data_base64"):
                try:
                    data = base64.b64decode(str(body["data_base64"]), validate=True)
                except binascii.Error:
                    raise web.HTTPBadRequest(text="data_base64 is not base64") from None
                update = user.send_image(data=data, caption=caption, group=group)
            else:
                raise web.HTTPBadRequest(text="photo_url or data_base64 is required")
        elif kind == "stickers":
            update = user.send_sticker(str(body.get("sticker") or DEFAULT_STICKER), group=group)
        else:
            update = user.send_unsupported(group=group)
        return _json_response(update)

    async def _block(self, request: web.Request) -> web.Response:
        self._user(request, {}).block()
        return _json_response({"blocked": True})

    async def _unblock(self, request: web.Request) -> web.Response:
        self._user(request, {}).unblock()
        return _json_response({"blocked": False})

    async def _chat_messages(self, request: web.Request) -> web.Response:
        chat_id = request.match_info["chat_id"]
        if chat_id not in self.sandbox.users and chat_id not in self.sandbox.groups:
            raise web.HTTPNotFound(text="chat not found")
        return _json_response([m.to_json() for m in self.sandbox.chat_messages(chat_id)])

    async def _add_fault(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        try:
            fault = self.sandbox.faults.add(
                str(body.get("kind", "")),
                method=body.get("method"),
                chat_id=None if body.get("chat_id") is None else str(body["chat_id"]),
                times=int(body.get("times", 1)),
            )
        except (TypeError, ValueError) as exc:
            raise web.HTTPBadRequest(text=str(exc)) from None
        return _json_response(fault.__dict__)

    async def _webhook(self, request: web.Request) -> web.Response:
        return _json_response(
            {
                "url": self.sandbox.webhook_url,
                "deliveries": [d.to_json() for d in self.sandbox.deliveries],
            }
        )

    async def _stats(self, request: web.Request) -> web.Response:
        return _json_response(self.sandbox.stats.to_json())


def serve_forever(
    *,
    host: str = "127.0.0.1",
    port: int = 8082,
    token: str = DEFAULT_TOKEN,
    limits: RateLimits | None = RateLimits(),
    insecure_urls: bool = False,
) -> None:
    """Run a Zalo sandbox server until Ctrl-C; this backs ``oshbot sandbox --channel zalo``."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")

    async def main() -> None:
        sandbox = ZaloSandbox(token=token, limits=limits, insecure_urls=insecure_urls)
        server = ZaloSandboxServer(sandbox, host, port)
        bound = await server.start()
        logger.info("Zalo sandbox listening on http://%s:%d", host, bound)
        logger.info(
            "Point the bot at it: OSHBOT_ZALO_API_BASE_URL=%s OSHBOT_ZALO_TOKEN=%s",
            server.base_url,
            token,
        )
        logger.info(
            "Play a user: curl -X POST http://%s:%d/sandbox/users/u1/messages "
            "-H 'Content-Type: application/json' -d '{\"text\": \"Xin chào\"}'",
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
        logger.info("Zalo sandbox stopped")
