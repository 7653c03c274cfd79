# The campaign from the language reference.
xpflow {
  output_dir     = "out"
  max_cost_cents = 5000
}

provider "xpilot" {
  base_url            = "https://xpilot.jytech.us"
  requests_per_minute = 30
}

variable "products" {
  type        = map(string)
  default     = { aurora = "Aurora headphones" }
  description = "Products to advertise, by key."
  sensitive   = false
}

locals { look = "studio light, 35mm" }

text "hook" {
  for_each   = var.products
  model      = "openai/gpt-4o"
  system     = "You write ad hooks."
  prompt     = "One line for ${each.value}"
  max_tokens = 40
}

image "hero" {
  for_each     = var.products
  model        = "bytedance/seedream-4.5"
  prompt       = "${text.hook[each.key].content}. ${local.look}"
  aspect_ratio = "16:9"
}

video "spot" {
  for_each       = var.products
  model          = "seedance-2.0/image-to-video"
  prompt         = "Slow push-in on ${each.value}"
  image_url      = image.hero[each.key].url
  duration       = 8
  generate_audio = true
}

output "spots" { value = { for k, v in video.spot : k => v.url } }
