xpflow {
  max_cost_cents = 500 # ERROR: Estimated cost exceeds max_cost_cents
}

video "spot" {
  count    = 3
  model    = "seedance-2.0/text-to-video"
  prompt   = "Shot ${count.index}"
  duration = 4
}
