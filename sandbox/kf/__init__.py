"""微信客服 (kf) in the sandbox: accounts, sessions, the message stream, sync_msg and sending."""
