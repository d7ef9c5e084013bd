using Ray.Serve.Cli;

// serve: Ray Serve's command line. `start` runs a driver hosting Serve (the controller, the
// HTTP proxy and the REST API) until Ctrl-C or SIGTERM; `deploy`, `status` and `shutdown` call
// the REST API of a running one.
return await ServeCommand.RunAsync(args, Console.Out, Console.Error);
