"""会话内容存档 in the sandbox: the archive, its encryption, GetChatData, msgaudit_notify and archived chat actions."""
