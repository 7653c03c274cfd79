video "spot" {
  model    = "seedance-2.0/text-to-video"
  prompt   = "Slow push-in."
  duration = 7 # ERROR: Unsupported duration
}
