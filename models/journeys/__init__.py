"""The bot's journeys, free of any messaging channel.

A journey is what a person does with the bot over several messages (answering a survey,
reporting an improvement). It takes channel-neutral `Input`s (typed text, a pressed action,
something else) and answers with an `Outcome` (messages with actions, a short notice for the
action pressed). Where the person stands is a database row (`state.py`), read on every input:
any process can serve the next message, and a restart loses nothing. A channel's driver
(handlers/driver.py for Telegram) turns its updates into inputs and outcomes into messages.
"""
