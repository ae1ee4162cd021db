"""A faithful local fake of WeCom (企业微信): qyapi endpoints, signed callbacks and a customer simulator."""
