video "spot" {
  model       = "wan-2.6/text-to-video"
  prompt      = "A cat on a beach"
  lock_camera = true # ERROR: lock_camera not supported
}
