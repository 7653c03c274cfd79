video "spot" { # ERROR: Unsupported duration
  model  = "seedance-2.0/text-to-video"
  prompt = "A cat on a beach"
}
