image "hero" {
  model  = "bytedance/seedream-4.6" # ERROR: Unknown model
  prompt = "Product shot."
}
