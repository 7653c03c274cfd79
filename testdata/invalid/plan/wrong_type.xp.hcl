image "hero" {
  model  = "seedance-2.0/text-to-video" # ERROR: Wrong model type
  prompt = "A cat on a beach"
}
