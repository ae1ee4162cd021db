"""企业群发 in the sandbox: add_msg_template, member confirmation, delivery under the monthly cap and results."""
