// The cluster contract (Ray.Contract) and the one payload writer (Ray.Protocol.PayloadWriter),
// visible to all of Core. WireWriter is the writer's old name inside Core; the alias goes when
// the folder rename pass after the layering merge touches the files that use it.
global using Ray.Contract.Messages;
global using Ray.Contract.Resources;
global using Ray.Contract.Session;
global using WireWriter = Ray.Protocol.PayloadWriter;
