{
  "targets": [
    {
      "target_name": "pyres_reap",
      "sources": ["reap.c"],
      "cflags": ["-O2", "-Wall", "-Wextra"]
    }
  ]
}
