using System.Net;
using System.Net.Http.Headers;
using Ray.Serve.Cli;

namespace Ray.Serve.Tests;

/// <summary>Applications a config's import_path names.</summary>
public static class ConfigApps
{
    public static Application Greeter => Serve.Deployment<Whoami>(new DeploymentOptions { Name = "greeter" }).Bind("Hi");

    public static Application Calc(IReadOnlyDictionary<string, string> args) =>
        Serve.Deployment<Composer>().Bind(Serve.Deployment<Adder>().Bind(int.Parse(args["k"])), Serve.Deployment<Doubler>().Bind());
}

public sealed class ConfigTests
{
    private static string ImportPath(string member) => $"{typeof(ConfigApps).Assembly.Location}:Ray.Serve.Tests.ConfigApps.{member}";

    private static string Yaml(bool both) => $"""
        applications:
          - name: greet
            route_prefix: /greet
            import_path: {ImportPath("Greeter")}
            deployments:
              - name: greeter
                num_replicas: 2
        {(both ? $"""
          - name: calc
            route_prefix: /calc
            import_path: {ImportPath("Calc")}
            args:
              k: "5"
        """ : "")}
        """;

    [Fact]
    public async Task A_config_deploys_applications_with_overrides_and_replaces_the_set()
    {
        await using var t = await TestServe.StartAsync();
        t.Serve.Deploy(ServeConfig.Parse(Yaml(both: true)));
        Assert.True(await TestServe.WaitUntilAsync(() => t.Serve.Status().Applications.All(a => a.Status == "RUNNING") && t.Serve.Status().Applications.Count == 2, TimeSpan.FromSeconds(10)));
        Assert.Equal(2, t.Deployment("greet", "greeter").Replicas.Count);
        Assert.StartsWith("Hi ", (await t.GetAsync("/greet")).Body);
        Assert.Equal((200, "16"), await t.PostAsync("/calc", "3"));
        t.Serve.Deploy(ServeConfig.Parse(Yaml(both: false)));
        Assert.True(await TestServe.WaitUntilAsync(() => t.Serve.Status().Applications.Count == 1, TimeSpan.FromSeconds(10)));
        Assert.Equal(404, (await t.PostAsync("/calc", "3")).Status);
        var e = Assert.Throws<FormatException>(() => t.Serve.Deploy(ServeConfig.Parse(Yaml(both: false).Replace("name: greeter", "name: nobody"))));
        Assert.Contains("has no deployment 'nobody'", e.Message);
        Assert.Throws<FormatException>(() => ServeConfig.Parse("applications: [ {name: x, import_path: nothing} ]"));
        Assert.Throws<FormatException>(() => ServeConfig.Parse("applications: {{{"));
    }

    [Fact]
    public async Task The_REST_API_and_the_serve_command_deploy_report_and_shut_down_with_the_token()
    {
        await using var ray = RayRuntime.Start();
        await using var serve = await ServeInstance.StartAsync(ray, new ServeOptions { Http = new HttpOptions { Port = 0 }, ApiPort = 0, ApiToken = "s3cret", ControlLoopInterval = TimeSpan.FromMilliseconds(20) });
        using var http = new HttpClient { BaseAddress = serve.ApiAddress };
        using (var noToken = await http.PutAsync("/api/serve/applications/", new StringContent(Yaml(both: false))))
            Assert.Equal(HttpStatusCode.Unauthorized, noToken.StatusCode);
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "s3cret");
        using (var bad = await http.PutAsync("/api/serve/applications/", new StringContent(Yaml(both: false).Replace("ConfigApps.Greeter", "ConfigApps.Nope"))))
        {
            Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
            Assert.Contains("no public static property, field or method 'Nope'", await bad.Content.ReadAsStringAsync());
        }
        using (var ok = await http.PutAsync("/api/serve/applications/", new StringContent(Yaml(both: false))))
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        Assert.True(await TestServe.WaitUntilAsync(() => http.GetStringAsync("/api/serve/applications/").Result.Contains("\"status\": \"RUNNING\""), TimeSpan.FromSeconds(10)));

        // The serve command against the same API: a config file with a relative import path.
        var dir = Directory.CreateTempSubdirectory("serve-cli-");
        try
        {
            var dll = typeof(ConfigApps).Assembly.Location;
            File.Copy(dll, Path.Combine(dir.FullName, Path.GetFileName(dll)));
            var config = Path.Combine(dir.FullName, "serve.yaml");
            File.WriteAllText(config, Yaml(both: true).Replace(Path.GetDirectoryName(dll) + "/", ""));
            var api = new[] { "--api", serve.ApiAddress.ToString(), "--token", "s3cret" };
            var (code, text) = await Cli(["deploy", config, .. api]);
            Assert.True(code == 0, text);
            Assert.Contains("calc", text);
            Assert.True(await TestServe.WaitUntilAsync(() => serve.Status().Applications.Count == 2 && serve.Status().Applications.All(a => a.Status == "RUNNING"), TimeSpan.FromSeconds(10)));
            (code, text) = await Cli(["status", .. api]);
            Assert.Equal(0, code);
            Assert.Contains("\"name\":\"calc\"", text.Replace(" ", ""));
            Assert.Equal(1, (await Cli(["status", "--api", serve.ApiAddress.ToString(), "--token", "wrong"])).Code);
            (code, _) = await Cli(["shutdown", .. api]);
            Assert.Equal(0, code);
            Assert.True(await TestServe.WaitUntilAsync(() => serve.Status().Applications.Count == 0, TimeSpan.FromSeconds(10)));
            Assert.Equal(2, (await Cli(["bogus"])).Code);
        }
        finally { dir.Delete(recursive: true); }
    }

    private static async Task<(int Code, string Text)> Cli(string[] args)
    {
        var output = new StringWriter();
        var code = await ServeCommand.RunAsync(args, output, output);
        return (code, output.ToString());
    }
}
