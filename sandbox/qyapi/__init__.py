"""The /cgi-bin/ gate every qyapi call passes: tokens, the errcode envelope, API limits and fault injection."""
