# A campaign with only synchronous models, so apply finishes at once.

xpflow {
  output_dir = "out"
}

variable "products" {
  type = map(string)
  default = {
    aurora = "Aurora headphones"
    nimbus = "Nimbus pillow"
  }
}

text "hook" {
  for_each   = var.products
  model      = "openai/gpt-4o"
  prompt     = "Write a hook for ${each.value}."
  max_tokens = 40
}

image "hero" {
  for_each     = var.products
  model        = "bytedance/seedream-4.5"
  prompt       = "${text.hook[each.key].content} Product shot of ${each.value}."
  aspect_ratio = "16:9"
}
