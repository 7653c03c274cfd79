video "spot" {
  model    = "seedance-2.0/text-to-video"
  prompt   = "A cat on a beach"
  duration = 6 # ERROR: Unsupported duration
}
