image "edit" {
  model  = "bytedance/seedream-4.5"
  prompt = "Make it blue"
  mode   = "i2i" # ERROR: Missing image_url
}
