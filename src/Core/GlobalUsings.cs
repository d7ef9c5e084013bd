// The cluster contract (Ray.Contract) and the payload writer (Ray.Protocol), visible to all of Core.
global using Ray.Contract.Messages;
global using Ray.Contract.Resources;
global using Ray.Contract.Session;
global using PayloadWriter = Ray.Protocol.PayloadWriter;
