# Localized variants of one ad: the same brief, a hook and a voiced video per
# language.

variable "languages" {
  type    = set(string)
  default = ["English", "French", "German", "Japanese"]
}

locals {
  brief = "Nimbus travel pillow: memory foam, folds to the size of a paperback."
}

text "hook" {
  for_each    = var.languages
  system      = "You write ad hooks in the requested language. One line, no hashtags."
  prompt      = "Language: ${each.key}. Product: ${local.brief}"
  max_tokens  = 40
  temperature = 0.4
}

video "ad" {
  for_each       = var.languages
  model          = "wan-2.6/text-to-video"
  prompt         = "A traveller naps on a train, title card: ${text.hook[each.key].content}"
  duration       = 5
  generate_audio = true
}

output "hooks" {
  value = { for k, v in text.hook : k => v.content }
}
