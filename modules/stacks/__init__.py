"""One module per stack; each stack is one Terraform root module with its own state."""
