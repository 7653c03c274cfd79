xpflow {
  max_cost_cents = -5 # ERROR: Invalid setting value
}
