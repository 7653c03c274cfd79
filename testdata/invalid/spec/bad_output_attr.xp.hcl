text "hook" { prompt = "p" }
image "hero" {
  model  = "m"
  prompt = text.hook.url # ERROR: Unsupported attribute
}
