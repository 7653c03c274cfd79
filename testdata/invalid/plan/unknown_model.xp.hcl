video "spot" {
  model  = "seedance-2.0/text-to-vdeo" # ERROR: Unknown model
  prompt = "A cat on a beach"
}
