"""The provider's web dashboard, mounted by the web application at /dashboard.

    from bot import dashboard
    routes.append(dashboard.mount(database, settings))

Staff and coordinators sign in with a one-time link that /web sends them in the chat.
"""

from bot.dashboard.pages import mount, routes

__all__ = ["mount", "routes"]
