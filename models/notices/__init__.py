"""What the bot says on its own initiative, rendered from the data in the reader's language:
one place for every channel, the scheduler and the dashboard."""
