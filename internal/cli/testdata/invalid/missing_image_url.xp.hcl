video "spot" { # ERROR: Missing image_url
  model    = "seedance-2.0/image-to-video"
  prompt   = "Slow push-in."
  duration = 8
}
