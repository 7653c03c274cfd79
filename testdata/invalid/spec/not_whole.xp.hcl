video "v" {
  model    = "m"
  prompt   = "p"
  duration = 4.5 # ERROR: Invalid value for duration
}
