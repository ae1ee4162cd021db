"""App messages in the sandbox: message/send (body, recipients, quotas, duplicates) and members' messages to the app."""
