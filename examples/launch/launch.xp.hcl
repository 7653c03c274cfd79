# Product launch: for every product, a text model writes a hook, the hook
# becomes the prompt of a hero image, and the image becomes the first frame
# of an 8-second video.

xpflow {
  output_dir     = "out"
  max_cost_cents = 5000
}

variable "products" {
  type        = map(string)
  description = "Products to launch, by short key."
  default = {
    aurora = "Aurora noise-cancelling headphones"
    nimbus = "Nimbus travel pillow"
    vesper = "Vesper smart desk lamp"
  }
}

locals {
  look = "studio light, 35mm, soft shadows"
}

text "hook" {
  for_each   = var.products
  model      = "openai/gpt-4o"
  system     = "You write one-line ad hooks. No hashtags."
  prompt     = "Write a hook for ${each.value}."
  max_tokens = 40
}

image "hero" {
  for_each     = var.products
  model        = "bytedance/seedream-4.5"
  prompt       = "${text.hook[each.key].content} Product shot of ${each.value}, ${local.look}."
  aspect_ratio = "16:9"
}

video "spot" {
  for_each       = var.products
  model          = "seedance-2.0/image-to-video"
  prompt         = "Slow push-in on ${each.value}, gentle light sweep."
  image_url      = image.hero[each.key].url
  duration       = 8
  generate_audio = true
}

output "spots" {
  value = { for k, v in video.spot : k => v.file }
}
