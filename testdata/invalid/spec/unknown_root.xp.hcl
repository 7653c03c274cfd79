text "a" {
  prompt = vr.x # ERROR: Unknown reference
}
