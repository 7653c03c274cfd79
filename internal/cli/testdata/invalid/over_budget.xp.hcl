xpflow {
  max_cost_cents = 100 # ERROR: Estimated cost exceeds max_cost_cents
}

video "spot" {
  model    = "seedance-2.0/text-to-video"
  prompt   = "Slow push-in."
  duration = 8
}
