video "spot" {
  model          = "wan-2.2/image-to-video"
  prompt         = "A cat on a beach"
  image_url      = "https://example.com/cat.png"
  generate_audio = true # ERROR: generate_audio not supported
}
