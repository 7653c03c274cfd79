# Team-campaign fixture (a copy of test/faults' campaign with a Postgres
# backend): n products, each a text hook -> a hero image
# (synchronous model) -> a 4-second image-to-video spot. Every prompt
# carries a tag naming its asset (T-p01, I-p01, V-p01), so the
# simulator's request log maps back to addresses.

xpflow {
  output_dir = "out"
  backend "postgres" {
    campaign = "launch"
  }
}

variable "n" {
  type        = number
  default     = 15
  description = "How many products (3 assets each)."
}

locals {
  products = { for i in range(var.n) : format("p%02d", i + 1) => "Product ${i + 1}" }
}

text "hook" {
  for_each   = local.products
  model      = "openai/gpt-4o"
  prompt     = "Write a one-line hook for ${each.value}. [T-${each.key}]"
  max_tokens = 40
}

image "hero" {
  for_each     = local.products
  model        = "bytedance/seedream-4.5"
  prompt       = "${text.hook[each.key].content} Hero shot. [I-${each.key}]"
  aspect_ratio = "16:9"
}

video "spot" {
  for_each  = local.products
  model     = "seedance-2.0/image-to-video"
  prompt    = "Slow push-in on the product. [V-${each.key}]"
  image_url = image.hero[each.key].url
  duration  = 4
}
