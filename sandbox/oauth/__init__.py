"""WeCom web login (企业微信Web登录), simulated: the login page a member confirms and `auth/getuserinfo`."""
