image "a" {
  model  = "m"
  prompt = video.b.prompt # ERROR: Dependency cycle: image.a -> video.b -> text.c -> image.a
}
video "b" {
  model  = "m"
  prompt = text.c.content
}
text "c" {
  prompt = image.a.url
}
