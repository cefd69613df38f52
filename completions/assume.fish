complete --keep-order --exclusive --command assume --arguments "(COMPLETE=fish assume -- (commandline --current-process --tokenize --cut-at-cursor) (commandline --current-token))"
