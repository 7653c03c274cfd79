image "a" {
  model  = "bytedance/seedream-4.5"
  prompt = video.b.prompt # ERROR: Dependency cycle
}

video "b" {
  model  = "seedance-2.0/text-to-video"
  prompt = text.c.content
}

text "c" {
  prompt = image.a.url
}
