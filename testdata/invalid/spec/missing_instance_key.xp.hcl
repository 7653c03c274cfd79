text "hook" {
  count  = 2
  prompt = "p"
}
image "hero" {
  model  = "m"
  prompt = text.hook.content # ERROR: Missing instance key
}
