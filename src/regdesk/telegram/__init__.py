"""The Telegram channel: a bot per desk, linking, guided requests, replies and notifications."""
