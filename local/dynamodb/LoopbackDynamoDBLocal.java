/*
 * DynamoDB Local bound to 127.0.0.1. Its own command line has no bind-address option: `-port N` listens on every
 * interface (0.0.0.0), which would put an unauthenticated database on the network. This launcher takes the same
 * arguments, builds the server as DynamoDB Local's ServerRunner does, sets its Jetty connector's host to 127.0.0.1,
 * then starts it. Telemetry is never configured here, so none is sent.
 *
 * Compiled once by local/dynamodb/dynamodb-local.ts with the JVM's own compiler module
 * (`java -m jdk.compiler/com.sun.tools.javac.Main`), against the DynamoDBLocal.jar it runs with.
 * Exit code 3: this DynamoDB Local is not built as expected (the caller falls back to the plain jar).
 */
import java.lang.reflect.Field;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import software.amazon.dynamodb.services.local.main.ServerRunner;
import software.amazon.dynamodb.services.local.server.DynamoDBProxyServer;

public final class LoopbackDynamoDBLocal {
  public static void main(String[] args) throws Exception {
    DynamoDBProxyServer proxy = ServerRunner.createServerFromCommandLineArgs(args);
    try {
      Field field = DynamoDBProxyServer.class.getDeclaredField("server");
      field.setAccessible(true);
      Server server = (Server) field.get(proxy);
      Connector[] connectors = server.getConnectors();
      if (connectors.length == 0) throw new IllegalStateException("no connector");
      for (Connector connector : connectors) ((ServerConnector) connector).setHost("127.0.0.1");
    } catch (ReflectiveOperationException | RuntimeException e) {
      System.err.println("LoopbackDynamoDBLocal: cannot bind DynamoDB Local to 127.0.0.1: " + e);
      System.exit(3);
    }
    proxy.start();
    proxy.join();
  }
}
