video "spot" {
  model  = "bytedance/seedream-4.5" # ERROR: Wrong model type
  prompt = "Slow push-in."
}
