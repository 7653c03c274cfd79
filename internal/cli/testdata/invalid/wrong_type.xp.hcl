video "spot" {
  model    = "seedance-2.0/text-to-video"
  prompt   = "Slow push-in."
  duration = "long" # ERROR: Incorrect attribute value type
}
