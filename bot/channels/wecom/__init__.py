"""WeCom (企业微信): callback crypto and parsing, the webhook, and the qyapi client."""
