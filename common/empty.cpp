// Bootstrap only: lets a library folder configure before its first source lands. Removed once all have sources.
