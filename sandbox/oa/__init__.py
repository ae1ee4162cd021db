"""The WeChat Official Account (公众号) in the sandbox: followers, its API, callbacks and message XML."""
