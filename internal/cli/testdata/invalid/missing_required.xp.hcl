text "hook" {
  prompt = "Write a hook."
}

image "hero" { # ERROR: Missing required argument
  prompt = text.hook.content
}
