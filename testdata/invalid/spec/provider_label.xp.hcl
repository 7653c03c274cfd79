provider "openai" { # ERROR: Unsupported provider
}
