text "hook" {
  prompt = "Write a hook."
}

image "hero" {
  model  = "bytedance/seedream-4.5"
  prompt = text.hook.url # ERROR: Unsupported attribute
}
