package handlers

// PrettySafe exposes prettySafe to the external tests.
var PrettySafe = prettySafe
